"""Reports on finished runs (evaluation against labels, calibration); a layer on the core."""
