from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="Group",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("platform", fields.CharField(max_length=16)),
                ("external_id", fields.CharField(max_length=255)),
                ("name", fields.CharField(default="", max_length=200)),
                ("timezone", fields.CharField(max_length=64)),
                ("week_start", fields.SmallIntField(default=0)),
                ("summary_slot", fields.CharField(max_length=16)),
                ("prompt_slot", fields.CharField(max_length=16)),
                ("grace_hours", fields.SmallIntField(default=12)),
                ("quiet_hours", fields.CharField(null=True, max_length=16)),
                ("weekly_message_cap", fields.SmallIntField(default=6)),
                ("threshold", fields.FloatField(default=0.6)),
                ("name_missed", fields.BooleanField(default=False)),
                ("group_streak", fields.IntField(default=0)),
                ("best_group_streak", fields.IntField(default=0)),
                (
                    "weeks_closed_through",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("archived", fields.BooleanField(default=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "groups",
                "app": "logoff",
                "unique_together": (("platform", "external_id"),),
                "pk_attr": "id",
                "table_description": "A Discord channel or Matrix room whose members make pledges together.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="GroupWeek",
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
                        related_name="weeks",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("week_key", fields.CharField(max_length=24)),
                ("kept", fields.IntField(default=0)),
                ("missed", fields.IntField(default=0)),
                ("excused", fields.IntField(default=0)),
                ("met", fields.BooleanField(null=True)),
                ("streak", fields.IntField(default=0)),
                ("closed_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "group_weeks",
                "app": "logoff",
                "unique_together": (("group", "week_key"),),
                "pk_attr": "id",
                "table_description": "A closed week of a group: kept and missed counts and the group streak after it.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Job",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("due_at", fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ("dedupe_key", fields.CharField(unique=True, max_length=255)),
                ("kind", fields.CharField(max_length=16)),
                ("group_id_ref", fields.IntField(null=True)),
                (
                    "payload",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("status", fields.CharField(default="pending", db_index=True, max_length=10)),
                ("attempts", fields.SmallIntField(default=0)),
                ("last_error", fields.TextField(null=True, unique=False)),
                (
                    "lease_until",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("claim_token", fields.CharField(null=True, max_length=32)),
                ("sent_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "jobs",
                "app": "logoff",
                "indexes": [
                    Index(fields=["status", "due_at"]),
                    Index(fields=["group_id_ref", "status"]),
                ],
                "pk_attr": "id",
                "table_description": "A persistent scheduled send or close: due time, dedupe key, status and lease.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Member",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("platform", fields.CharField(max_length=16)),
                ("external_id", fields.CharField(max_length=255)),
                ("display_name", fields.CharField(default="", max_length=200)),
                ("timezone", fields.CharField(null=True, max_length=64)),
                (
                    "muted_until",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "forget_requested_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "members",
                "app": "logoff",
                "unique_together": (("platform", "external_id"),),
                "pk_attr": "id",
                "table_description": "A person on one platform, created the first time they use the bot.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Pledge",
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
                        related_name="pledges",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("number", fields.IntField()),
                ("title", fields.CharField(max_length=200)),
                ("cadence", fields.CharField(max_length=8)),
                ("target", fields.SmallIntField(default=1)),
                ("start_date", fields.DateField(null=True)),
                ("end_date", fields.DateField(null=True)),
                ("remind_slot", fields.CharField(null=True, max_length=16)),
                ("status", fields.CharField(default="active", max_length=10)),
                ("paused_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("paused_until", fields.DateField(null=True)),
                (
                    "creator",
                    fields.ForeignKeyField(
                        "logoff.Member",
                        source_field="creator_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="created_pledges",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "pledges",
                "app": "logoff",
                "unique_together": (("group", "number"),),
                "pk_attr": "id",
                "table_description": "A small offline commitment in a group, with a cadence and a target per period.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Participation",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "pledge",
                    fields.ForeignKeyField(
                        "logoff.Pledge",
                        source_field="pledge_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="participations",
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
                        related_name="participations",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("active", fields.BooleanField(default=True)),
                ("joined_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("first_period", fields.CharField(max_length=24)),
                ("remind_slot", fields.CharField(null=True, max_length=16)),
                ("remind_off", fields.BooleanField(default=False)),
                ("delivery", fields.CharField(default="channel", max_length=8)),
                ("current_streak", fields.IntField(default=0)),
                ("best_streak", fields.IntField(default=0)),
                ("strength", fields.FloatField(default=0.0)),
                ("freezes", fields.SmallIntField(default=1)),
                ("kept_toward_freeze", fields.SmallIntField(default=0)),
                ("closed_through", fields.CharField(null=True, max_length=24)),
                (
                    "next_close_at",
                    fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "participations",
                "app": "logoff",
                "unique_together": (("pledge", "member"),),
                "pk_attr": "id",
                "table_description": "A member taking part in a pledge, with the streak state of its closed periods.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="CheckIn",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "participation",
                    fields.ForeignKeyField(
                        "logoff.Participation",
                        source_field="participation_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="checkins",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("period_key", fields.CharField(max_length=24)),
                ("kind", fields.CharField(max_length=8)),
                ("note", fields.CharField(default="", max_length=500)),
                ("event_key", fields.CharField(max_length=255)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("undone_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "checkins",
                "app": "logoff",
                "unique_together": (("participation", "event_key"),),
                "indexes": [Index(fields=["participation_id", "period_key"])],
                "pk_attr": "id",
                "table_description": "One answer for a participation in a period: done, not this time, or skip.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Outcome",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "participation",
                    fields.ForeignKeyField(
                        "logoff.Participation",
                        source_field="participation_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="outcomes",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("group_id_ref", fields.IntField(db_index=True)),
                ("period_key", fields.CharField(max_length=24)),
                (
                    "period_end",
                    fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False),
                ),
                ("outcome", fields.CharField(max_length=8)),
                ("done", fields.SmallIntField(default=0)),
                ("closed_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "outcomes",
                "app": "logoff",
                "unique_together": (("participation", "period_key"),),
                "pk_attr": "id",
                "table_description": "The stored result of one closed period of one participation.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="SentMessage",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("platform", fields.CharField(max_length=16)),
                ("message_id", fields.CharField(max_length=255)),
                ("group_id_ref", fields.IntField(null=True)),
                ("pledge_id_ref", fields.IntField(null=True)),
                ("period_key", fields.CharField(null=True, max_length=24)),
                ("kind", fields.CharField(max_length=16)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "sent_messages",
                "app": "logoff",
                "unique_together": (("platform", "message_id"),),
                "pk_attr": "id",
                "table_description": "A message the bot posted, so reactions and clicks on it map back to what it asked.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Vouch",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "checkin",
                    fields.ForeignKeyField(
                        "logoff.CheckIn",
                        source_field="checkin_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="vouches",
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
                        related_name="vouches",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "vouches",
                "app": "logoff",
                "unique_together": (("checkin", "member"),),
                "pk_attr": "id",
                "table_description": "A member witnessing another member's check-in.",
            },
            bases=["Model"],
        ),
    ]
