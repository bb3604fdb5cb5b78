-- Drops what 3a7c5e9b1d42 added: every delivery, planned slot, channel,
-- reminder setting, calendar token and schedule (children first), and each
-- person's own time zone.
DROP TABLE IF EXISTS notification_deliveries;
DROP TABLE IF EXISTS reminder_slots;
DROP TABLE IF EXISTS notification_channels;
DROP TABLE IF EXISTS reminder_settings;
DROP TABLE IF EXISTS calendar_tokens;
DROP TABLE IF EXISTS medication_schedules;
ALTER TABLE persons DROP COLUMN timezone;
