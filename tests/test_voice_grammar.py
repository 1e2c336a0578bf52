"""The voice grammar against the training captions: every caption can be said and is sent back
as a caption of the same command."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from motionvla_ros.voice_grammar import (
    CANCEL_WORDS,
    UNKNOWN_COLOURS,
    UNKNOWN_THINGS,
    CommandGrammar,
    command_text,
    number_words,
    spoken_form,
)
from sim.scene import COLOURS, SHAPES
from training.data.captions import CONNECTORS, phrasings
from training.data.scene_samples import scene_captions
from training.data.synthetic_dataset import sample_commands


@pytest.fixture(scope="module")
def grammar() -> CommandGrammar:
    return CommandGrammar()


def _drawn_commands(draws: int = 3000) -> list:
    """The distinct commands the training data generator draws (its whole value grid)."""
    commands = {}
    for seed in range(draws):
        for command in sample_commands(np.random.default_rng(seed), combination_probability=0.0):
            commands[repr(command)] = command
    return list(commands.values())


@pytest.fixture(scope="module")
def drawn_commands() -> list:
    return _drawn_commands()


def test_the_drawn_commands_cover_every_kind(drawn_commands):
    kinds = {command.kind for command in drawn_commands}
    assert kinds == {"walk", "run", "turn", "step_sideways", "jump", "squat", "wave",
                     "raise_arms", "sit_down"}  # fmt: skip
    assert len(drawn_commands) > 150


def test_every_caption_phrasing_is_in_the_grammar_and_comes_back_as_one(grammar, drawn_commands):
    for command in drawn_commands:
        options = set(phrasings(command))
        for phrase in options:
            words = spoken_form(phrase)
            assert grammar.accepts(words), (phrase, words)
            assert command_text(words) in options, (phrase, words, command_text(words))


def test_every_scene_caption_of_every_object_is_in_the_grammar(grammar):
    for colour, shape, action in itertools.product(COLOURS, SHAPES, ("walk_to", "face")):
        for phrase in scene_captions(action, f"{colour} {shape}"):
            assert grammar.accepts(spoken_form(phrase)), phrase
            assert command_text(spoken_form(phrase)) == phrase


def test_two_commands_joined_by_any_connector_come_back_as_a_caption(grammar, drawn_commands):
    rng = np.random.default_rng(0)
    for _ in range(200):
        first, second = (drawn_commands[int(i)] for i in rng.integers(len(drawn_commands), size=2))
        captions = {a + c + b for a in phrasings(first) for b in phrasings(second)
                    for c in CONNECTORS}  # fmt: skip
        phrase = sorted(captions)[int(rng.integers(len(captions)))]
        words = spoken_form(phrase)
        assert grammar.accepts(words), phrase
        assert command_text(words) in captions, (phrase, command_text(words))


def test_two_commands_are_sent_joined_by_then_whichever_connector_was_said(grammar, drawn_commands):
    rng = np.random.default_rng(1)
    for _ in range(100):
        first, second = (drawn_commands[int(i)] for i in rng.integers(len(drawn_commands), size=2))
        a, b = (sorted(phrasings(c))[int(rng.integers(len(phrasings(c))))] for c in (first, second))
        sent = {grammar.command_for(spoken_form(a + c + b)) for c in CONNECTORS}
        a, b = (command_text(spoken_form(c)) for c in (a, b))
        assert sent == {a + ", then " + b}, (a, b)
    # One command with "and" in it stays as it was said; so do single commands.
    assert grammar.command_for("raise your right hand and wave") == "raise your right hand and wave"
    assert grammar.command_for("walk forward two point five meters") == "walk forward 2.5 meters"
    assert grammar.command_for("turn left after that sit down") == "turn left, then sit down"
    assert grammar.command_for("open the door") == "open the door"


def test_captions_as_written_by_the_dataset_are_read_aloud_the_same():
    # The dataset capitalises and ends with a period ("Walk forward 2.5 m, then sit down.").
    assert spoken_form("Walk forward 2.5 m, then sit down.") == (
        "walk forward two point five meters then sit down"
    )
    assert spoken_form("step 1 m to the left") == "step one meter to the left"


@pytest.mark.parametrize(
    ("value", "words"),
    [(45, "forty five"), (135, "one hundred thirty five"), (360, "three hundred sixty"),
     (2.5, "two point five"), (0.3, "zero point three"), (10, "ten"), (0, "zero")],
)  # fmt: skip
def test_number_words_and_back(value, words):
    assert number_words(value) == words
    assert command_text(f"turn {words} degrees") == f"turn {value:g} degrees"


def test_number_words_refuses_what_it_cannot_say():
    with pytest.raises(ValueError, match="cannot read"):
        number_words(1000)
    with pytest.raises(ValueError, match="cannot read"):
        number_words(0.25)


def test_counts_the_captions_spell_out_stay_words():
    assert command_text("do one squat") == "do one squat"
    assert command_text("squat two times") == "squat two times"
    assert command_text("squat three times") == "squat 3 times"
    assert command_text("do two squats") == "do 2 squats"


def test_commas_and_letters_come_back():
    assert command_text("squat twice going down deep") == "squat twice, going down deep"
    assert command_text("go one meter straight ahead while turning forty five degrees "
                        "to the left") == ("go 1 meter straight ahead while turning 45 degrees "
                                           "to the left")  # fmt: skip
    assert command_text("walk two meters in an arc to the left turning ninety degrees") == (
        "walk 2 meters in an arc to the left, turning 90 degrees"
    )
    assert command_text("make a t with your arms and then sit down") == (
        "make a T with your arms and then sit down"
    )


@pytest.mark.parametrize(
    "sentence",
    ["walk to the pink box", "pick up the red box", "wave with your left foot", "what time is it",
     "walk forward seven meters", "stop then stop", "turn left left", "", "walk to the"],
)  # fmt: skip
def test_sentences_outside_the_language_are_refused(grammar, sentence):
    assert not grammar.accepts(sentence)


def test_objects_the_scene_cannot_hold_are_heard_and_refused(grammar):
    for sentence in ("walk to the pink box", "face the door", "go to the red table",
                     "approach the gray cube"):  # fmt: skip
        assert grammar._fsg.accept(sentence), sentence  # the recogniser can hear it ...
        assert not grammar.accepts(sentence), sentence  # ... and it is not a command
        assert grammar.unknown_names(sentence)
    assert grammar.unknown_names("walk to the pink table then sit down") == ["pink", "table"]
    assert grammar.unknown_names("walk to the red box") == []
    assert not set(UNKNOWN_COLOURS) & set(COLOURS) and not set(UNKNOWN_THINGS) & set(SHAPES)
    # A scene that does hold a pink cube: those are objects, not unknown names.
    pink = CommandGrammar(colours=("red", "pink"), shapes=("box", "cube"))
    assert pink.accepts("walk to the pink cube") and not pink.unknown_names("face the pink cube")
    assert not pink.accepts("walk to the brown cube")
    every = CommandGrammar(colours=("red", *UNKNOWN_COLOURS), shapes=("box", *UNKNOWN_THINGS))
    assert every.accepts("walk to the pink table") and not every.unknown_names("face the gray cup")


def test_a_connector_at_the_end_leaves_the_command_before_it(grammar):
    assert grammar.before_trailing_connector("turn around and") == "turn around"
    assert grammar.before_trailing_connector("wave your right hand and then") == (
        "wave your right hand"
    )
    assert grammar.before_trailing_connector("turn left after that") == "turn left"
    # Only a whole command before it: not a shorter one, nor a sentence with no connector.
    assert grammar.before_trailing_connector("raise your right hand and") is None
    assert grammar.before_trailing_connector("walk to the pink box and") is None
    assert grammar.before_trailing_connector("turn around") is None
    assert grammar.before_trailing_connector("turn around and sit") is None
    assert grammar.before_trailing_connector("and") is None


def test_stop_and_cancel_are_sentences(grammar):
    assert all(grammar.accepts(word) for word in CANCEL_WORDS)
    assert not grammar.accepts("stop walking")


def test_the_grammar_is_valid_jsgf_with_every_word_listed(grammar):
    assert grammar.jsgf.startswith("#JSGF V1.0;")
    assert {"walk", "purple", "cylinder", "ninety", "squats", "t"} <= grammar.words
    assert not any(word.startswith("<") for word in grammar.words)


def test_command_sequences_read_a_sentence_without_its_connector(grammar):
    pair = {("turn left ninety degrees", "sit down")}
    for connector in ("then", "and then", "after that", "and"):
        said = f"turn left ninety degrees {connector} sit down"
        assert grammar.command_sequences(said) == pair, connector
    assert grammar.command_sequences("walk to the red box") == {("walk to the red box",)}
    assert grammar.command_sequences("turn right ninety degrees then sit down") != pair
    for outside in ("walk to the red box then", "stop then sit down", "open the door", ""):
        assert grammar.command_sequences(outside) == set(), outside
    with pytest.raises(ValueError, match="max_commands"):
        CommandGrammar(max_commands=0)
