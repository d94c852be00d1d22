"""Classroom labs that chain the pipeline stages, and their reports (see docs/labs/)."""

from tinykit.lab.kws import LabConfig, LabResult, export_testset, make_sentence, match_detections, run_lab

__all__ = ["LabConfig", "LabResult", "export_testset", "make_sentence", "match_detections", "run_lab"]
