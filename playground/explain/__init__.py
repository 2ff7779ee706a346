"""Explanations side by side: LIME, SHAP and Captum behind one interface.

methods    one module per method (adapters over LIME, SHAP, Captum), a registry, one signature
subjects   a finished run's model in a variant (float, int8, random weights)
agreement  rank correlation, top-k overlap and a plain sentence for two maps
sanity     the model-randomisation check (Adebayo et al., 2018)
cache      explanations stored in the run's folder, keyed by what determines them
jobs       what the cache lacks, asked of the workers as jobs, with progress
charts     pure Altair builders for the Explain page
words      sentences: words highlighted by weight (escaped HTML), the tiny BERT's attention
(`python -m playground explain` is in playground.cli.explain; section (d) of `make bench` in
playground.bench.explain.)
"""
