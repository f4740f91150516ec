"""`make bench`: cold start against the floor, calls per verdict, scaling, artifact size."""
