output "alb_dns_name" {
  value = aws_lb.main.dns_name
}

output "cluster" {
  value = aws_ecs_cluster.main.name
}

output "listener_arn" {
  value = aws_lb_listener.http.arn
}

output "target_groups" {
  value = {
    open-webui             = aws_lb_target_group.open_webui.arn
    bedrock-access-gateway = aws_lb_target_group.gateway.arn
  }
}

output "services" {
  value = { for k, s in aws_ecs_service.service : k => s.name }
}

output "subnets" {
  value = aws_subnet.public[*].id
}

output "service_security_group" {
  value = aws_security_group.services.id
}
