"""The words generated prose draws from: Faker's en_US word lists, read once.

Calling Faker per sentence costs more than the rest of a request (its proxy and provider
dispatch, a reseed per reply). The lists themselves are plain tuples, so they are read
once and drawn from with the reply's own `random.Random`: same words, a fraction of
the cost. Loading imports Faker (about 0.15 s), so it happens in the start-up warm-up,
off the event loop, or on the first reply that needs it.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

WordList = tuple[str, ...]


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

    def phrase(self, rng: random.Random, lists: tuple[WordList, ...]) -> str:
        return " ".join([rng.choice(words) for words in lists])

    def city(self, rng: random.Random) -> str:
        """Faker's four en_US city shapes: "Port Sarahberg", "New Ann", "Annfurt"."""
        shape = rng.randrange(4)
        if shape == 0:
            name = rng.choice(self.first_names) + rng.choice(self.city_suffixes)
            return f"{rng.choice(self.city_prefixes)} {name}"
        if shape == 1:
            return f"{rng.choice(self.city_prefixes)} {rng.choice(self.first_names)}"
        names = self.first_names if shape == 2 else self.last_names
        return rng.choice(names) + rng.choice(self.city_suffixes)


_lock = threading.Lock()
_loaded: list[Vocabulary] = []


def vocabulary() -> Vocabulary:
    """The word lists, read on first use; thread-safe, so a warm-up thread can load it."""
    if _loaded:
        return _loaded[0]
    with _lock:
        if not _loaded:
            _loaded.append(_read_faker_lists())
    return _loaded[0]


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
