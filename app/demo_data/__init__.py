"""Small demo data written for headscope (restaurant reviews, relation sentences)."""
