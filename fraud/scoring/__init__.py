"""Scoring usage points for non-technical losses (issue 13, items 3-4): unsupervised
detectors over the feature matrix (an isolation forest over everyone, a local outlier
factor within each transformer zone), a supervised gradient boosting once inspections have
labelled enough usage points, the probability of a loss, reasons in words, and the ranking
of inspections under a budget."""
