terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
  # Partial configuration: pass bucket, key and region with -backend-config
  # (terraform-plan's backend-config input).
  backend "s3" {}
}

provider "aws" {
  region = var.region
}
