output "alb_dns_name" {
  value = aws_lb.main.dns_name
}

output "load_balancer_arn" {
  value = aws_lb.main.arn
}

output "cluster" {
  value = aws_ecs_cluster.main.name
}

output "listener_arn" {
  description = "The listener whose default action weighs open-webui's blue and green target groups (ecs-deploy's listener-arn)."
  value       = aws_lb_listener.http.arn
}

output "gateway_rule_arn" {
  value = aws_lb_listener_rule.gateway.arn
}

output "target_groups" {
  description = "open-webui's pair as blue,green (ecs-deploy's target-groups), and the gateway's."
  value = {
    open-webui             = "${aws_lb_target_group.open_webui["blue"].arn},${aws_lb_target_group.open_webui["green"].arn}"
    bedrock-access-gateway = aws_lb_target_group.gateway.arn
  }
}

output "services" {
  value = merge({ for k, s in aws_ecs_service.rolling : k => s.name }, { open-webui = aws_ecs_service.open_webui.name })
}

output "subnets" {
  value = aws_subnet.public[*].id
}

output "service_security_group" {
  value = aws_security_group.services.id
}
