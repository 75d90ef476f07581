"""headscope from Python: load a checkpoint, inspect one input, analyse heads on a dataset, run robustness
suites and reports, and see the head view and model view inline in Jupyter (offline).

    import headscope
    absa = headscope.load("demo-absa-qa-m")
    result = headscope.inspect(absa, "The pasta was great but the waiter was rude.", aspect="service")
    result                      # the prediction and the head view under the cell
    result.attention            # numpy [layers, heads, tokens, tokens]
    result.model_view()         # every head as a thumbnail

It runs the same core as the server and the command line (docs/how-to/notebook.md); a package above
`app`, like `app.cli`: it imports app, app never imports it.
"""

from headscope.bertviz import from_bertviz
from headscope.datasets import analyze, report, robustness
from headscope.faithfulness import FaithfulnessView, faithfulness
from headscope.inspecting import KnockoutView, inspect, knockout
from headscope.loading import Checkpoint, load
from headscope.patching import PatchingView, patching
from headscope.results import InspectionResult
from headscope.summaries import AnalysisView, ReportView, RobustnessView
from headscope.views import HTMLView

__all__ = [
    "AnalysisView",
    "Checkpoint",
    "FaithfulnessView",
    "HTMLView",
    "InspectionResult",
    "KnockoutView",
    "PatchingView",
    "ReportView",
    "RobustnessView",
    "analyze",
    "faithfulness",
    "from_bertviz",
    "inspect",
    "knockout",
    "load",
    "patching",
    "report",
    "robustness",
]
