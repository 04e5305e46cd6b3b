"""AWS facts the plugin answers with and the review checks against, in one place.

Availability zones per region (letters; zone ids follow the region's short form) and the regional
Elastic Load Balancing accounts that deliver access logs in regions opened before August 2022
(newer regions deliver as the ``logdelivery.elasticloadbalancing.amazonaws.com`` service).
"""

# Availability zones per region (names; zone ids follow the region's short form)
AZ_LETTERS: dict[str, str] = {
    "us-east-1": "abcdef", "us-east-2": "abc", "us-west-1": "ac", "us-west-2": "abcd",
    "ap-northeast-1": "acd", "ap-northeast-2": "abcd", "ap-northeast-3": "abc",
    "ap-southeast-1": "abc", "ap-southeast-2": "abc", "ap-south-1": "abc",
    "eu-west-1": "abc", "eu-west-2": "abc", "eu-west-3": "abc", "eu-central-1": "abc",
    "eu-north-1": "abc", "ca-central-1": "abd", "sa-east-1": "abc",
}
ZONE_PREFIX: dict[str, str] = {"us-east-1": "use1", "us-east-2": "use2", "us-west-1": "usw1", "us-west-2": "usw2",
                "ap-northeast-1": "apne1", "ap-northeast-2": "apne2", "ap-northeast-3": "apne3",
                "ap-southeast-1": "apse1", "ap-southeast-2": "apse2", "ap-south-1": "aps1",
                "eu-west-1": "euw1", "eu-west-2": "euw2", "eu-west-3": "euw3",
                "eu-central-1": "euc1", "eu-north-1": "eun1", "ca-central-1": "cac1",
                "sa-east-1": "sae1"}
ELB_ACCOUNTS: dict[str, str] = {
    "us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980",
    "us-west-2": "797873946194", "af-south-1": "098369216593", "ap-east-1": "754344448648",
    "ap-south-1": "718504428378", "ap-northeast-1": "582318560864",
    "ap-northeast-2": "600734575887", "ap-northeast-3": "383597477331",
    "ap-southeast-1": "114774131450", "ap-southeast-2": "783225319266",
    "ca-central-1": "985666609251", "eu-central-1": "054676820928", "eu-west-1": "156460612806",
    "eu-west-2": "652711504416", "eu-west-3": "009996457667", "eu-south-1": "635631232127",
    "eu-north-1": "897822967062", "me-south-1": "076674570225", "sa-east-1": "507241528517",
    "us-gov-west-1": "048591011584", "us-gov-east-1": "190560391635",
    "cn-north-1": "638102146993", "cn-northwest-1": "037604701340",
}
