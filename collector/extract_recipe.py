"""A recipe the page declares (schema.org `Recipe` in JSON-LD): its ingredients and steps as
lines (`recipe_lines`), and the blocks outside the article's container that are those lines,
which join the body (`declared_box`; docs/extraction.md, step 4)."""

from __future__ import annotations

from itertools import pairwise

from .extract_meta import types_of
from .extract_walk import Walk

#: Characters of a page's declared recipe lines read, at most: every block outside the body
#: is looked for in them, so their length multiplies the page's (a recipe's ingredients and
#: steps are a few thousand characters).
_RECIPE_MAX_CHARS = 20_000


def recipe_lines(jsonld: list[dict]) -> tuple[str, ...]:
    """The ingredients and steps of the recipes the page declares (schema.org `Recipe`:
    `recipeIngredient`, `recipeInstructions` as text, a list of texts, or steps and sections
    of steps), white space collapsed and lower-cased; at most 500 lines and about
    `_RECIPE_MAX_CHARS` characters."""
    out: list[str] = []
    size = 0
    for obj in jsonld:
        if "recipe" not in types_of(obj):
            continue
        # (the ingredients last: popped, so read, first)
        todo: list[object] = [obj.get("recipeInstructions"),
                              obj.get("recipeIngredient") or obj.get("ingredients")]
        while todo and len(out) < 500 and size < _RECIPE_MAX_CHARS:
            item = todo.pop()
            if isinstance(item, str):
                lines = [" ".join(line.split()).lower() for line in
                         item[:_RECIPE_MAX_CHARS - size].splitlines() if line.strip()]
                out.extend(lines)
                size += sum(len(line) + 1 for line in lines)
            elif isinstance(item, list):
                todo.extend(reversed(item))
            elif isinstance(item, dict):
                todo.append(item.get("itemListElement") or item.get("text"))
    return tuple(out)


#: Characters a block must have to be looked for among the declared lines.
_DECLARED_MIN_CHARS = 4
#: Share of a box's blocks that must be declared lines for the whole box to join the body.
_DECLARED_SHARE = 0.3
#: Blocks between two declared lines, at most, that join with them.
_DECLARED_GAP = 3


def declared_box(w: Walk, keep: list[int],
                  declared: tuple[str, ...]) -> tuple[list[int], set[int]]:
    """The body with the blocks of the recipe a page declares (its ingredients and steps, in
    JSON-LD) that the container left out: a recipe's page sets its description, its list of
    ingredients and its steps in boxes of their own, and the container is one of them. The
    blocks outside the body that are declared lines, or the start or end of one (an amount and an
    ingredient in cells of their own), are found; the smallest element holding them all
    joins whole (the headings over the ingredients of each part, the amounts) when they are
    at least `_DECLARED_SHARE` of its blocks, else they join alone."""
    # a declared line whole, its start or its end (the cells of an ingredient's row): not
    # a word inside a step ("rate" in "separate", "home" in "serve at home")
    text = "\n" + "\n".join(declared) + "\n"
    kept = set(keep)
    found = []
    for i, block in enumerate(w.blocks):
        if i in kept or w.links[i] > 0.5:
            continue
        line = " ".join(block.split()).lower()
        if len(line) >= _DECLARED_MIN_CHARS and line in text and (
                f"\n{line}\n" in text or f"\n{line} " in text or f" {line}\n" in text):
            found.append(i)
    if not found:
        return keep, set()
    first, last = found[0], found[-1]
    frame = w.frames[first]
    while frame[5] is not None and not (frame[1] <= first and last < frame[6]):
        frame = frame[5]
    box = range(frame[1], frame[6])
    if len(found) >= _DECLARED_SHARE * len(box):
        found = [i for i in box if i not in kept]
    else:
        # a list of ingredients whose lines the page writes otherwise than it declares
        # them (an amount and its ingredient in cells of their own, the headings over each
        # part): a block or two between two declared lines is one of the list's
        found += [i for a, b in pairwise(found) if b - a <= _DECLARED_GAP
                  for i in range(a + 1, b) if i not in kept and w.links[i] <= 0.5]
    return sorted(kept.union(found)), set(found)
