#!/usr/bin/env python3
"""Independent reference for core/audio/features.ts (log-mel spectrogram), written with numpy only.

Regenerate the fixtures from the repository root with:

    python3 tests/reference/logmel_reference.py

It writes, deterministically (seeded, no clock, no librosa):
  tests/fixtures/logmel_signal.f32     10.5 s of a test signal at 16 kHz, float32 little-endian
  tests/fixtures/logmel_reference.json the parameters, the full mel filterbank (non-zero span of
                                        each band), the log-mel of every STRIDE-th frame, and the
                                        per-band sum over all frames

This is a second implementation on purpose: the mel scale and filters are written from Slaney's
definition (as documented for librosa.filters.mel(htk=False, norm="slaney")), the framing from
the contract in docs/architecture.md, and the FFT is numpy's, not fft.js.
"""
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures")

PARAMS = {
    "sampleRate": 16000,
    "windowLength": 800,
    "hopLength": 800,
    "nFft": 1024,
    "nMels": 64,
    "fmin": 0,
    "fmax": 8000,
    "window": "hann",
    "melScale": "slaney",
    "power": 2,
    "logOffset": 1e-6,
    "segmentSeconds": 10,
    "loudnessDbfs": -20,
    "maxGainDb": 40,
}
SECONDS = 10.5
SEED = 20240611
STRIDE = 3  # keep every 3rd frame in the fixture (70 of 210), plus the per-band sums of all


def test_signal(sr: int) -> np.ndarray:
    """A chirp, two tones and seeded noise, with 0.5 s of exact silence and a loud burst."""
    n = int(round(SECONDS * sr))
    t = np.arange(n, dtype=np.float64) / sr
    f0, f1 = 50.0, 7800.0
    # Linear chirp: phase = 2π (f0 t + (f1 - f0) t² / (2 T)).
    chirp = 0.3 * np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t * t / (2 * SECONDS)))
    tones = 0.2 * np.sin(2 * np.pi * 440.0 * t) + 0.05 * np.sin(2 * np.pi * 3150.0 * t + 0.3)
    rng = np.random.default_rng(SEED)
    noise = 0.02 * rng.standard_normal(n)
    x = chirp + tones + noise
    x[int(5.0 * sr):int(5.5 * sr)] = 0.0  # silent frames exercise the log offset
    x[int(8.0 * sr):int(8.1 * sr)] *= 2.0  # a loud burst
    return x.astype("<f4")


def hz_to_mel(f):
    """Slaney: linear (200/3 Hz per mel) below 1 kHz, logarithmic above (27 mels per factor 6.4)."""
    f = np.asarray(f, dtype=np.float64)
    f_sp = 200.0 / 3.0
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    linear = f / f_sp
    logpart = min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep
    return np.where(f >= min_log_hz, logpart, linear)


def mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    f_sp = 200.0 / 3.0
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


def mel_filterbank(sr, n_fft, n_mels, fmin, fmax):
    """Triangles between consecutive mel-spaced edges, each scaled to unit area (2 / width in Hz)."""
    bins = np.fft.rfftfreq(n_fft, d=1.0 / sr)  # n_fft/2 + 1 bin centre frequencies
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    fb = np.zeros((n_mels, bins.size), dtype=np.float64)
    for m in range(n_mels):
        lo, mid, hi = edges[m], edges[m + 1], edges[m + 2]
        rising = (bins - lo) / (mid - lo)
        falling = (hi - bins) / (hi - mid)
        tri = np.clip(np.minimum(rising, falling), 0.0, None)
        fb[m] = tri * (2.0 / (hi - lo))
    return fb


def log_mel(x, p):
    win, hop, n_fft = p["windowLength"], p["hopLength"], p["nFft"]
    frames = (len(x) - win) // hop + 1
    idx = np.arange(win)[None, :] + hop * np.arange(frames)[:, None]
    segs = x.astype(np.float64)[idx]  # [frame, sample]
    # Loudness normalisation: scale the samples so their RMS over all frames is loudnessDbfs
    # (gain at most maxGainDb), as scaling the audio itself would.
    if p["loudnessDbfs"] is not None:
        level = 10 * np.log10(np.mean(segs ** 2))
        segs = segs * 10 ** (min(p["maxGainDb"], p["loudnessDbfs"] - level) / 20)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / win)  # periodic Hann
    spec = np.fft.rfft(segs * window, n=n_fft, axis=1)  # zero-pads each frame at the end
    power = spec.real ** 2 + spec.imag ** 2
    fb = mel_filterbank(p["sampleRate"], n_fft, p["nMels"], p["fmin"], p["fmax"])
    mel = power @ fb.T  # [frame, mel]
    return np.log(mel + p["logOffset"]).T, fb  # [mel, frame]


def main():
    p = PARAMS
    x = test_signal(p["sampleRate"])
    os.makedirs(FIXTURES, exist_ok=True)
    x.tofile(os.path.join(FIXTURES, "logmel_signal.f32"))
    # Read back exactly what the TypeScript test will read.
    x = np.fromfile(os.path.join(FIXTURES, "logmel_signal.f32"), dtype="<f4")
    lm, fb = log_mel(x, p)
    n_mels, frames = lm.shape
    kept = list(range(0, frames, STRIDE))
    filters = []
    for m in range(n_mels):
        nz = np.nonzero(fb[m])[0]
        start = int(nz[0]) if nz.size else 0
        end = int(nz[-1]) + 1 if nz.size else 0
        filters.append({"start": start, "weights": [float("%.9g" % w) for w in fb[m, start:end]]})
    out = {
        "generator": "tests/reference/logmel_reference.py (numpy %s)" % np.__version__.split(".")[0],
        "params": p,
        "samples": int(x.size),
        "nMels": int(n_mels),
        "frames": int(frames),
        "nBins": int(fb.shape[1]),
        "filterbank": filters,
        "filterbankRowSums": [float("%.9g" % s) for s in fb.sum(axis=1)],
        "frameIndices": kept,
        "logmel": [[round(float(v), 5) for v in lm[m, kept]] for m in range(n_mels)],
        "bandSums": [round(float(s), 4) for s in lm.sum(axis=1)],
    }
    with open(os.path.join(FIXTURES, "logmel_reference.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
