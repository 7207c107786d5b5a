"""Static catalogs (pure data) describing what Overcast offers, in the shapes AWS answers with."""
