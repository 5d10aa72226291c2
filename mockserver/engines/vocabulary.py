"""The words generated prose draws from: Faker's en_US word lists, read once.

Calling Faker per sentence costs more than the rest of a request (its proxy and provider
dispatch, a reseed per reply). The lists themselves are plain tuples, so they are read
once and drawn from with the reply's own `random.Random`: same words, a fraction of
the cost. Loading imports Faker (about 0.15 s), so it happens in the start-up warm-up,
off the event loop, or on the first reply that needs it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mockserver.support.memo import Once

WordList = tuple[str, ...]
Pick = Callable[[Sequence[str]], str]  # one element of a sequence, drawn uniformly


def picker(rng: random.Random) -> Pick:
    """`rng.choice` for strings at a third of its cost: one float per draw, no retry loop."""
    draw = rng.random
    return lambda words: words[int(draw() * len(words))]


@dataclass(frozen=True)
class Vocabulary:
    bs: tuple[WordList, ...]  # "integrate extensible convergence": one word from each
    catch_phrase: tuple[WordList, ...]  # "Robust full-range hub": one word from each
    jobs: WordList
    city_prefixes: WordList
    city_suffixes: WordList
    first_names: WordList
    last_names: WordList
    nouns: WordList

    def phrase(self, pick: Pick, lists: tuple[WordList, ...]) -> str:
        return " ".join([pick(words) for words in lists])

    def city(self, pick: Pick) -> str:
        """Faker's four en_US city shapes: "Port Sarahberg", "New Ann", "Annfurt"."""
        shape = pick(_CITY_SHAPES)
        if shape == "prefix name suffix":
            return f"{pick(self.city_prefixes)} {pick(self.first_names)}{pick(self.city_suffixes)}"
        if shape == "prefix name":
            return f"{pick(self.city_prefixes)} {pick(self.first_names)}"
        names = self.first_names if shape == "name suffix" else self.last_names
        return pick(names) + pick(self.city_suffixes)


_CITY_SHAPES = ("prefix name suffix", "prefix name", "name suffix", "surname suffix")


def vocabulary() -> Vocabulary:
    """The word lists, read on first use; thread-safe, so a warm-up thread can load it."""
    return _VOCABULARY.get()


def _read_faker_lists() -> Vocabulary:
    from faker.providers.address.en_US import Provider as Address
    from faker.providers.company.en_US import Provider as Company
    from faker.providers.job.en_US import Provider as Job
    from faker.providers.lorem.en_US import Provider as Lorem
    from faker.providers.person.en_US import Provider as Person

    return Vocabulary(
        bs=tuple(tuple(words) for words in Company.bsWords),
        catch_phrase=tuple(tuple(words) for words in Company.catch_phrase_words),
        jobs=tuple(Job.jobs),
        city_prefixes=tuple(Address.city_prefixes),
        city_suffixes=tuple(Address.city_suffixes),
        first_names=tuple(Person.first_names),
        last_names=tuple(Person.last_names),
        nouns=tuple(Lorem.parts_of_speech["noun"]),
    )


_VOCABULARY = Once(_read_faker_lists)
