"""Training scripts, one module per ``--script`` family (see :mod:`lib.train.train_script`)."""
