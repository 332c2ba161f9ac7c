"""Training-data pieces of the Siamese families (PySOT / SiamBAN / SiamFC++): anchors, points and label targets."""
