"""Dataset scripts: raw CK+ / AFEW layouts to prepared frames, and the synthetic dataset generator.

The lower layer of the project: the dataset layouts and their class tables (:mod:`.labels`), the
face pipeline (:mod:`.faces`), video and image reading (:mod:`.video`), atomic writes (:mod:`.atomic`)
and the synthetic data. It imports nothing from :mod:`fsa`, which builds on it (torch-free, so
data-preparation worker processes load quickly).
"""
