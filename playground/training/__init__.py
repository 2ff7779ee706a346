"""What a run is and how it trains: its config, the training loop, its techniques (plug-ins), its
artifacts.
"""
