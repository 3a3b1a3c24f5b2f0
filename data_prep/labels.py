"""The paper's classes, the label codes of each dataset, and the maps derived from them.

Each dataset names the emotions its own way: CK+ by a number in its ``Emotion/*_emotion.txt``
files, AFEW (and SFEW, which takes its frames from AFEW) by a class folder, FER2013 by a number
in its CSV. The readers (:mod:`data_prep.ckplus`, :mod:`data_prep.afew`, :mod:`data_prep.stills`),
the synthetic-data writers (:mod:`data_prep.synth`, :mod:`data_prep.synth.stills`) and the tests'
fixtures all use these tables, so that the code that writes a dataset and the code that reads it
cannot disagree. Classes are the paper's names: :data:`CLASSES_7` (the class order of every
confusion matrix and logit) and ``contempt``, which only CK+'s own protocol (:data:`CLASSES_CK7`) uses.
"""
from __future__ import annotations

#: Class order used everywhere (paper Tables 5 and 10: An Di Fe Ha Ne Sa Su).
CLASSES_7 = ("anger", "disgust", "fear", "happy", "neutral", "sadness", "surprise")
#: CK+ with its own seven labelled emotions (contempt instead of neutral).
CLASSES_CK7 = ("anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise")

#: CK+ emotion code → class.
CK_EMOTIONS = {0: "neutral", 1: "anger", 2: "contempt", 3: "disgust", 4: "fear", 5: "happy", 6: "sadness",
               7: "surprise"}
#: AFEW / SFEW class folder → class.
AFEW_CLASS_FOLDERS = {"Angry": "anger", "Disgust": "disgust", "Fear": "fear", "Happy": "happy", "Neutral": "neutral",
                      "Sad": "sadness", "Surprise": "surprise"}
#: FER2013 emotion code k → its name, one of AFEW's folder names (0 Angry ... 6 Neutral).
FER2013_EMOTIONS = ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral")

#: Class → CK+ emotion code.
CK_CODES = {label: code for code, label in CK_EMOTIONS.items()}
#: Class → AFEW / SFEW class folder.
AFEW_FOLDERS = {label: folder for folder, label in AFEW_CLASS_FOLDERS.items()}
#: FER2013 emotion code k → class.
FER2013_CLASSES = tuple(AFEW_CLASS_FOLDERS[name] for name in FER2013_EMOTIONS)
