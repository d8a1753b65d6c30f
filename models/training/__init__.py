"""The key model's life: training material, datasets, training, metrics (torch is imported only here)."""
