"""Issue 14: offline events, RSVPs, attendance and per-group event settings."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [("logoff", "0003_exactly_once")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Event",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "group",
                    fields.ForeignKeyField(
                        "logoff.Group",
                        source_field="group_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="events",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("number", fields.IntField()),
                ("title", fields.CharField(max_length=200)),
                ("local_date", fields.DateField()),
                ("local_time", fields.CharField(max_length=5)),
                ("tzid", fields.CharField(max_length=64)),
                (
                    "starts_at",
                    fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False),
                ),
                ("ends_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("place", fields.CharField(default="", max_length=200)),
                (
                    "pledge",
                    fields.ForeignKeyField(
                        "logoff.Pledge",
                        source_field="pledge_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="events",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                (
                    "creator",
                    fields.ForeignKeyField(
                        "logoff.Member",
                        source_field="creator_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="created_events",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("status", fields.CharField(default="scheduled", max_length=10)),
                ("card_message_id", fields.CharField(null=True, max_length=255)),
                ("mirror_id", fields.CharField(null=True, max_length=64)),
                ("sequence", fields.IntField(default=0)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("updated_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "events",
                "app": "logoff",
                "unique_together": (("group", "number"),),
                "pk_attr": "id",
                "table_description": "An offline event of a group: a local date and time in a zone, optionally keeping a pledge.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Attendance",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "event",
                    fields.ForeignKeyField(
                        "logoff.Event",
                        source_field="event_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="attendances",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "member",
                    fields.ForeignKeyField(
                        "logoff.Member",
                        source_field="member_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="attendances",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("went", fields.BooleanField()),
                (
                    "checkin",
                    fields.ForeignKeyField(
                        "logoff.CheckIn",
                        source_field="checkin_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="attendances",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("event_key", fields.CharField(max_length=255)),
                ("updated_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "attendances",
                "app": "logoff",
                "unique_together": (("event", "member"),),
                "pk_attr": "id",
                "table_description": "Whether a member made it to an event, and the check-in it recorded for a linked pledge.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="EventSettings",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "group",
                    fields.ForeignKeyField(
                        "logoff.Group",
                        source_field="group_id",
                        unique=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="event_settings",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("reminder", fields.CharField(default="1d", max_length=16)),
                ("feed_secret", fields.CharField(null=True, unique=True, max_length=64)),
            ],
            options={
                "table": "event_settings",
                "app": "logoff",
                "pk_attr": "id",
                "table_description": "A group's event settings: when the reminder comes, and the secret of its ICS feed.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Rsvp",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "event",
                    fields.ForeignKeyField(
                        "logoff.Event",
                        source_field="event_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="rsvps",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "member",
                    fields.ForeignKeyField(
                        "logoff.Member",
                        source_field="member_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="rsvps",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("answer", fields.CharField(max_length=8)),
                ("event_key", fields.CharField(max_length=255)),
                ("updated_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "rsvps",
                "app": "logoff",
                "unique_together": (("event", "member"),),
                "pk_attr": "id",
                "table_description": "A member's answer to an event: going, maybe or can't.",
            },
            bases=["Model"],
        ),
    ]
