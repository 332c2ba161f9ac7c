"""SiamRPN++ (PySOT) configuration."""
