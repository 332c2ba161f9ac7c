"""Networks: layers (attention, blocks, CE, heads) and the OSTrack model (``lib.models.ostrack``)."""
