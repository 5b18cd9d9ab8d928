"""The ground floor: what every app may use and what imports no app."""
