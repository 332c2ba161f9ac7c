"""SiamBAN configuration."""
