// Compiled once so that the precompiled header (torch/torch.h) has an owner
// that every other target can reuse.
