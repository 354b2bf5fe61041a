"""One package per chat platform; each turns platform events into core calls and Answers into replies."""
