"""Operations: the one-scheduler lock and ``scraper doctor``'s checks."""
