-- Answers the record, or nothing.
return reply(0, current())
