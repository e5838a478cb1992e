"""A three-document corpus for fine-tuning tests that add the label ``UNIT`` to a base model:
two French documents hold units, the English one none."""

UNITS_CORPUS = """
=== doc: u1 | lang: fr
Le [3e régiment d'infanterie de marine]{UNIT} a quitté Vannes avec le [1er régiment de chasseurs]{UNIT}.
=== doc: u2 | lang: en
Thales delivered radars to the navy near Toulon last spring.
=== doc: u3 | lang: fr
Le [2e régiment étranger de parachutistes]{UNIT} a sauté sur Calvi.
"""
