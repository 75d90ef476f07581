"""Small name lists for the person / location perturbations, written for headscope.

A name is recognised only when it is written capitalised and is on a list (no NER model: a miss
costs a variant, a false hit would edit a word that is not a name); a place name must also stand
alone, not be part of a longer proper name ("Mexico City", "New Mexico"). Replacements come from the same
list, so a first name stays a first name and a city stays a city.
"""

from __future__ import annotations

FEMALE_NAMES = (
    "Alice", "Amanda", "Anna", "Caroline", "Chloe", "Diana", "Elena", "Emily", "Emma", "Fatima", "Grace", "Hannah",
    "Isabel", "Jennifer", "Julia", "Karen", "Laura", "Linda", "Maria", "Mary", "Nina", "Olivia", "Rachel", "Sarah",
    "Sofia",
)
MALE_NAMES = (
    "Adam", "Andrew", "Brian", "Carlos", "Charles", "Daniel", "David", "Edward", "Eric", "Frank", "George", "Henry",
    "Jack", "James", "John", "Kevin", "Lucas", "Mark", "Michael", "Oliver", "Paul", "Peter", "Robert", "Thomas",
    "William",
)
LAST_NAMES = (
    "Anderson", "Baker", "Brown", "Campbell", "Chen", "Clark", "Davis", "Evans", "Garcia", "Green", "Hall",
    "Harris", "Hughes", "Jackson", "Johnson", "Jones", "Kim", "King", "Lee", "Lewis", "Lopez", "Martin",
    "Miller", "Moore", "Nguyen", "Patel", "Robinson", "Rodriguez", "Scott", "Smith", "Taylor", "Thompson",
    "Walker", "White", "Williams", "Wilson", "Wright", "Young",
)
CITIES = (
    "Amsterdam", "Athens", "Atlanta", "Bangkok", "Barcelona", "Beijing", "Berlin", "Boston", "Brussels",
    "Budapest", "Cairo", "Chicago", "Dallas", "Delhi", "Dublin", "Edinburgh", "Helsinki", "Houston", "Istanbul",
    "Lagos", "Lisbon", "London", "Los Angeles", "Madrid", "Manchester", "Melbourne", "Miami", "Milan", "Montreal",
    "Moscow", "Mumbai", "Munich", "Nairobi", "New York", "Oslo", "Paris", "Philadelphia", "Prague", "Rome",
    "San Francisco", "Seattle", "Seoul", "Shanghai", "Singapore", "Stockholm", "Sydney", "Tokyo", "Toronto",
    "Vancouver", "Vienna", "Warsaw", "Washington",
)
COUNTRIES = (
    "Argentina", "Australia", "Austria", "Belgium", "Brazil", "Canada", "Chile", "China", "Colombia", "Denmark",
    "Egypt", "England", "Finland", "France", "Germany", "Greece", "India", "Indonesia", "Ireland", "Israel",
    "Italy", "Japan", "Kenya", "Mexico", "Morocco", "Netherlands", "New Zealand", "Nigeria", "Norway", "Peru",
    "Poland", "Portugal", "Russia", "Scotland", "Spain", "Sweden", "Switzerland", "Thailand", "Turkey",
    "United Kingdom", "United States", "Vietnam",
)

# A first name is replaced by one of the same list, so "our waitress Maria" stays a woman.
PERSON_LISTS = {"female first name": FEMALE_NAMES, "male first name": MALE_NAMES, "last name": LAST_NAMES}
LOCATION_LISTS = {"city": CITIES, "country": COUNTRIES}
