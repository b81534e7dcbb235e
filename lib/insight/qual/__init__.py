"""VOC phase 2, qualitative: interviews, focus groups, observation logs, expert sessions, community
posts and open ends into evidence.

- insight.qual.model: QualData (the four canonical tables together), masking, errors;
- insight.qual.importers: transcripts, highlight CSVs, REFI-QDA .qdc/.qdpx;
- insight.qual.analysis: frequencies by participant attributes, co-occurrence, saturation, quotes,
  evidence per hypothesis, probing depth, immersion timeline, expert key points;
- insight.qual.reliability: Cohen's kappa and Krippendorff's alpha;
- insight.qual.themes / insight.qual.sentiment: suggested themes and sentiment for uncoded text.
"""
from insight.qual.model import QualData, QualDataError  # noqa: F401
