"""Features per usage point and period for the NTL models (issue 13, item 2): computed
set-based from the database into a ``FeatureMatrix``; each family has its own module and
documents its columns in ``registry``."""
