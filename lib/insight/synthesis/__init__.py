"""VOC phase 3: evidence per hypothesis, group differences, triangulation, drivers, summary, year over year."""
