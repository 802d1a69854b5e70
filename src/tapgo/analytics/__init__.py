"""Analytics: what the other domains' data says over time (today: what shared links brought).

The top of the domains: it reads any domain below it and is read by the interfaces only."""
