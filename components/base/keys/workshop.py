"""The Workshop's session-state keys (a session's place in a room, and the presenter's)."""

NAME = "workshop_name"  # the workshop this session is in
USER = "workshop_user"  # the person's display name there
KEY = "workshop_key"  # the presenter key, held by the presenter's session only
TOKEN = "workshop_token"  # the participant's private token
NOTICE = "workshop_notice"  # a message for the next page drawn (e.g. a link that failed)
FLASH = "workshop_flash"  # what the presenter's last action did, shown once
KEY_SHOWN = "workshop_key_shown"  # the presenter asked to see their key
JOIN_PROBLEM = "workshop_join_problem"  # why the last join was refused, shown once
LESSON_SEEN = "workshop_lesson_seen"  # the room's lesson version this session has applied
JOIN_HOST = "workshop_join_host"  # the network address the room's links use
PERSONAL_SHOWN = "workshop_personal_shown"  # the participant asked to see their own link
ENDED = "workshop_ended"  # the room's export, once the presenter ended the workshop
