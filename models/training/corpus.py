"""Real compositions with known keys from the music21 corpus, as note lists.

Only three collections are used, the ones the training issue names: Bach's
chorales, ``oneills1850`` and ``essenFolksong``; the rest of the corpus stays
out, so that evaluations on it stay honest. A fifth of the pieces, chosen by a
hash of their id, is held out of training (:func:`is_held_out`) for the melody
evaluation.

Key labels:
- chorales carry a ``key.Key`` with a mode; the few modal ones are kept as labelled;
- O'Neill's ``K:`` fields name the mode (``K:Em``, ``K:Dmix``): only major and
  minor tunes are kept;
- Essen's ``K:`` gives only a key signature, so the tonic is the final note:
  a tune is kept when that note is the signature's major tonic or its
  relative minor's, and left out otherwise.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from sampledex.models import keys

HOLD_OUT_SHARE = 5  # one piece in five


@dataclass(frozen=True)
class Piece:
    """A composition: notes as (onset, duration) in quarter notes and MIDI pitch."""

    id: str
    collection: str
    key: int
    notes: list[tuple[float, float, int]]
    melody: list[tuple[float, float, int]]  # the top line (the tune itself for monophonic pieces)


def is_held_out(piece_id: str) -> bool:
    """Whether a piece belongs to the held-out fifth (stable across runs and machines)."""
    return int(hashlib.sha1(piece_id.encode()).hexdigest(), 16) % HOLD_OUT_SHARE == 0


def _notes(stream) -> list[tuple[float, float, int]]:
    out = []
    for n in stream.flatten().notes:
        for p in n.pitches:
            out.append((float(n.offset), float(n.quarterLength), int(p.midi)))
    return sorted(out)


def _key_of(mode: str | None, tonic_name: str) -> int | None:
    if mode not in ("major", "minor"):
        return None
    return keys.parse_key(f"{tonic_name.replace('-', 'b')} {mode}")


def chorales() -> list[Piece]:
    from music21 import corpus
    from music21 import key as m21key

    pieces = []
    for path in corpus.chorales.Iterator(returnType="filename"):
        score = corpus.parse(path)
        found = list(score.flatten().getElementsByClass(m21key.Key))
        if not found:
            continue
        k = _key_of(found[0].mode, found[0].tonic.name)
        if k is None or not score.parts:
            continue
        pieces.append(Piece(f"chorale/{Path(str(path)).stem}", "chorales", k, _notes(score), _notes(score.parts[0])))
    return pieces


def _abc_tunes(collection: str, files: list, *, signature_only: bool) -> list[Piece]:
    from music21 import corpus
    from music21 import key as m21key

    pieces = []
    for path in files:
        opus = corpus.parse(str(path))
        for i, score in enumerate(getattr(opus, "scores", [opus])):
            notes = _notes(score)
            if len(notes) < 8:
                continue
            sigs = list(score.flatten().getElementsByClass(m21key.KeySignature))
            if not sigs:
                continue
            sig = sigs[0]
            if signature_only:
                major = sig.asKey("major")
                final_pc = notes[-1][2] % 12
                if final_pc == major.tonic.pitchClass:
                    k = _key_of("major", major.tonic.name)
                elif final_pc == (major.tonic.pitchClass + 9) % 12:
                    k = _key_of("minor", sig.asKey("minor").tonic.name)
                else:
                    continue
            else:
                if not isinstance(sig, m21key.Key):
                    continue
                k = _key_of(sig.mode, sig.tonic.name)
            if k is None:
                continue
            number = score.metadata.number if score.metadata and score.metadata.number else i
            pieces.append(Piece(f"{collection}/{Path(str(path)).stem}/{number}", collection, k, notes, notes))
    return pieces


def oneills() -> list[Piece]:
    from music21 import corpus

    files = sorted(p for p in corpus.corpora.CoreCorpus().getPaths() if "oneills1850" in str(p))
    return _abc_tunes("oneills1850", files, signature_only=False)


def essen(max_files: int = 3) -> list[Piece]:
    """Essen tunes from the first ``max_files`` files (each holds hundreds; parsing is slow)."""
    from music21 import corpus

    files = sorted(p for p in corpus.corpora.CoreCorpus().getPaths() if "essenFolksong" in str(p))
    return _abc_tunes("essenFolksong", files[:max_files], signature_only=True)


def load_pieces(cache: str | Path) -> list[Piece]:
    """All pieces, parsed once and cached as JSON at ``cache`` (parsing takes minutes)."""
    cache = Path(cache)
    if cache.exists():
        return [
            Piece(**{**d, "notes": [tuple(n) for n in d["notes"]], "melody": [tuple(n) for n in d["melody"]]})
            for d in json.loads(cache.read_text())
        ]
    pieces = chorales() + oneills() + essen()
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps([asdict(p) for p in pieces]))
    return pieces
