# Models for this app arrive with its mechanisms (DESIGN §7–§9).
