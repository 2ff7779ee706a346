"""Words for people new to ML: the glossary and the lessons."""
