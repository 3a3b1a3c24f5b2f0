"""The label tables of :mod:`data_prep.labels` against the datasets' own definitions.

Every reader and writer of the datasets (and the test fixtures) takes its codes from these
tables, so a wrong entry would pass every round trip; the expected codes are therefore written
out here, from the datasets' documentation (CK+: Lucey et al. 2010; FER2013: the Kaggle
challenge; AFEW / SFEW: the EmotiW folder names).
"""
from __future__ import annotations

from data_prep import labels
from fsa.config import CLASSES_7, CLASSES_CK7


def test_ckplus_codes_are_those_of_the_ckplus_emotion_files():
    documented = ["neutral", "anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise"]
    assert labels.CK_EMOTIONS == dict(enumerate(documented))
    assert labels.CK_CODES == {label: code for code, label in enumerate(documented)}
    assert set(labels.CK_EMOTIONS.values()) - {"neutral"} == set(CLASSES_CK7)


def test_afew_folders_name_the_seven_classes():
    documented = {"Angry": "anger", "Disgust": "disgust", "Fear": "fear", "Happy": "happy", "Neutral": "neutral",
                  "Sad": "sadness", "Surprise": "surprise"}
    assert labels.AFEW_CLASS_FOLDERS == documented
    assert labels.AFEW_FOLDERS == {c: f for f, c in documented.items()}
    assert tuple(labels.AFEW_FOLDERS) == CLASSES_7  # the synthetic sets draw the classes in this order


def test_fer2013_codes_are_those_of_the_csv():
    assert labels.FER2013_EMOTIONS == ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral")
    assert labels.FER2013_CLASSES == ("anger", "disgust", "fear", "happy", "sadness", "surprise", "neutral")
