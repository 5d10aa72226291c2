"""The wire shape of a completion: made here and nowhere else."""
