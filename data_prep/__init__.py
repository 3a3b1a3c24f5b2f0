"""Dataset scripts: raw CK+ / AFEW layouts to prepared frames, and the synthetic dataset generator."""
