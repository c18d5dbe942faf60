"""OneRoster 1.2 CSV rostering: users, classes (as courses) and enrollments from a SIS."""
