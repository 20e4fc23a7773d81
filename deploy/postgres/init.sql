-- One database per service (docker compose only; `make run` creates them itself).
CREATE DATABASE cupo_inventory;
CREATE DATABASE cupo_booking;
CREATE DATABASE cupo_enrollment;
CREATE DATABASE cupo_worker;
