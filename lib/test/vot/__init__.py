"""The VOT toolkit integration: a TraX server for any registered tracker, workspace set-up and analysis."""
