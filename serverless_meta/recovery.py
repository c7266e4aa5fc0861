"""Disaster recovery for the table a service makes: AWS Backup on top of point-in-time recovery.

Point-in-time recovery restores any second of the last days; a daily backup in a vault the
stack keeps restores further back, and survives the table's deletion. The runbooks are in
the README ("Disaster recovery").
"""

from __future__ import annotations

from aws_cdk import Duration, Names, RemovalPolicy
from aws_cdk import aws_backup as backup
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from constructs import Construct

from serverless_meta import defaults
from serverless_meta.compliance import acknowledge
from serverless_meta.props import ServiceProps


def build_backup(scope: Construct, props: ServiceProps, *, table: dynamodb.ITableV2, key: kms.IKey) -> TableBackup:
    """The daily backup of the service's table, with the retention and cold storage asked for."""
    return TableBackup(
        scope,
        "Backup",
        table=table,
        key=key,
        retention=props.data.backup_retention or defaults.BACKUP_RETENTION,
        cold_storage_after=props.data.backup_cold_storage_after,
    )


class TableBackup(Construct):
    """A daily backup of ``table`` (03:00 UTC) into an encrypted vault that outlives the stack."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table: dynamodb.ITableV2,
        key: kms.IKey,
        retention: Duration,
        cold_storage_after: Duration | None,
    ) -> None:
        super().__init__(scope, construct_id)
        # Names unique to this construct: CDK would name every plan "Plan".
        self.vault = backup.BackupVault(
            self,
            "Vault",
            backup_vault_name=Names.unique_resource_name(self, separator="-", max_length=50),
            encryption_key=key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.plan = backup.BackupPlan(
            self,
            "Plan",
            backup_plan_name=Names.unique_resource_name(self, separator="-", max_length=50),
            backup_vault=self.vault,
            backup_plan_rules=[
                backup.BackupPlanRule(
                    rule_name="Daily",
                    schedule_expression=events.Schedule.cron(minute="0", hour="3"),
                    delete_after=retention,
                    move_to_cold_storage_after=cold_storage_after,
                )
            ],
        )
        selection = self.plan.add_selection("Table", resources=[backup.BackupResource.from_arn(table.table_arn)])
        acknowledge(
            selection,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]",
            "AWS Backup's own service-role policy, the one its documentation prescribes for backup selections; "
            "AWS keeps it current as the services it backs up change.",
        )

