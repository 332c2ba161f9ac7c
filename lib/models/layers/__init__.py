"""Model building blocks, one concept per module: attention, block, CE block, head, tokens, position embeddings."""
