"""Message text as the gateway sees it: the analysis behind every live counter."""
