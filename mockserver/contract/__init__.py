"""The contract: what a request must be, checked in the order Azure checks it."""
